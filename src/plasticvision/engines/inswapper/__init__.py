"""The neural engine: SCRFD, ArcFace, inswapper_128 and GFPGAN on onnxruntime, one small class per model."""
