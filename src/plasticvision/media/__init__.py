"""Safe decoding and encoding of images, and what is drawn on frames (face boxes, the live overlay)."""
