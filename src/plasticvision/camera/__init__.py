"""The swapped stream as a camera: a frame source, a swapper and a sink, joined by one loop.

    source (sources.py)   a camera through OpenCV, or a video / Y4M file through PyAV
    swapper (swappers.py) in-process (`LiveStream`) or a PlasticVision server (`StreamClient`)
    sink (sinks.py)       a virtual camera (pyvirtualcam), a preview window, an MP4 file, nothing

`plasticvision camera` (cli/camera.py) picks one of each from its flags and hands them to
`loop.run_stream`; the three interfaces are in frames.py.
"""
