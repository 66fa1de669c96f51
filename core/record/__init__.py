"""What a run leaves behind: the journal (SQLite), the host-wide run lock, run reports, the state dir."""
