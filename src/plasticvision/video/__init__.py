"""Video files: safe opening of untrusted containers (formats), codec I/O (reader, writer, audio, metadata, limits,
threads, join) and, on top, swapping them (swap, chunks)."""
