"""Face geometry both the engines and the pipeline need: boxes, regions, 5-point alignment and face outlines."""
