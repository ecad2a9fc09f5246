"""The pure rules: no I/O, no database, no settings; time is passed in."""
