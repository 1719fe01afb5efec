"""Safe decoding and encoding of images and videos."""
