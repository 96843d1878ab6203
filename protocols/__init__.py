"""Protocol files (one TOML per protocol), installed as the package data of ``hsibench.protocol_files``."""
