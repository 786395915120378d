"""Where confirmed defects and annotated frames go: events file, SQLite, video, crops, window, alarms.

Each sink is optional and a context manager; `fabric_inspect.inspect.pipeline` opens the ones
`SinkConfig` asks for.
"""

from __future__ import annotations
