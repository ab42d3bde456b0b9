"""Write the JSON Schema of every event type to ``docs/events/<type>.json``.

``make event-schemas`` (``python -m kontor.events.schemas docs/events``) regenerates them from the
catalog; a test fails when the files and the catalog disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kontor.events import catalog


def rendered() -> dict[str, str]:
    """File name -> text of every schema, as written to disk."""
    return {
        f"{event_type}.json": json.dumps(schema, indent=2, sort_keys=False) + "\n"
        for event_type, schema in catalog.schemas().items()
    }


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.json"):
        stale.unlink()
    written = []
    for name, text in rendered().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - the make target
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/events")
    print(f"{len(write(target))} event schemas written to {target}")
