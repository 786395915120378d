"""Roll inspection report: the 4-point system and a self-contained HTML document."""
