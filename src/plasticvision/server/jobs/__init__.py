"""Video jobs: records that survive restarts (SQLite), their files, live progress, and the runner."""
