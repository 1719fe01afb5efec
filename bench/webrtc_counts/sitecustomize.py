"""Counts a server process's WebRTC loss recovery for its whole life (`bench.webrtc_counts`)."""

import os

from bench.webrtc_counts import COUNTS_FILE_ENV, counting, write_every

counting()
write_every(os.environ[COUNTS_FILE_ENV])
