"""Video files: codec I/O (reader, writer, audio, metadata, limits, threads, join) and, on top, swapping them (swap, chunks)."""
