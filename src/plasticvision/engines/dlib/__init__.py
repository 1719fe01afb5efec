"""The offline engine: dlib HOG detection, 68 landmarks, ResNet identity, landmark-mesh warp."""
