"""Image names: one index file, `.shocker/names.json`, mapping every name to the image holding it.

A name (`busybox:latest`, `127.0.0.1:5000/team/app:1`) belongs to at most one image; an image
holds any number of names, or none. Because the whole mapping is one file replaced with one
rename(2), giving a name to an image and taking it from the image that held it is one atomic
step: no reader, and no crash, ever sees a name on two images or half moved.

The API other code uses is on ImageStore (store/images.py), which holds the ids lock around
every change:

- `ImageStore.add(..., names=[...])`: a new image, its names assigned after its record is
  written (a build `-t`, a load, a pull, a commit);
- `ImageStore.tag(image_id, *names)`: give names to an image, moving them from any other;
- `ImageStore.untag(name)`: take one name away (the image stays, perhaps without a name);
- `ImageStore.remove_name(text)`: `rmi NAME`: the name goes, and the image with it when it
  held no other name;
- `ImageRecord.names`: the names an image holds, oldest first, as they were given.

Names are kept as given (Docker's familiar form, the tag made explicit); they are compared in
their normalised form (store/names.py), so `docker.io/library/busybox` finds `busybox:latest`.
"""

from __future__ import annotations

from pathlib import Path

from shocker.errors import StorageError
from shocker.record import record
from shocker.store.atomic import read_json, write_json_atomic
from shocker.store.names import normalize
from shocker.store.records import now


@record()
class NameEntry:
    name: str  # as given: `127.0.0.1:5000/team/app:1`
    image: str  # `img-xxxxx`
    at: str  # RFC 3339, when the name was given to this image


class NameIndex:
    """The names file: read it whole, change it in memory, write it whole (under the ids lock)."""

    def __init__(self, path: Path, entries: dict[str, NameEntry]) -> None:
        self.path = path
        self.entries = entries  # normalised name -> entry

    @classmethod
    def read(cls, path: Path) -> NameIndex | None:
        """The index at `path`; None when there is none yet."""
        try:
            data = read_json(path)
        except FileNotFoundError:
            return None
        entries: dict[str, NameEntry] = {}
        try:
            for key, entry in data["names"].items():
                entries[key] = NameEntry(
                    name=str(entry["name"]), image=str(entry["image"]), at=str(entry["at"])
                )
        except (KeyError, TypeError, AttributeError) as error:
            raise StorageError(f"{path} is corrupt: {error!r}") from None
        return cls(path, entries)

    def write(self) -> None:
        names = {
            key: {"name": e.name, "image": e.image, "at": e.at}
            for key, e in sorted(self.entries.items())
        }
        write_json_atomic(self.path, {"version": 1, "names": names})

    def assign(self, image_id: str, name: str) -> str | None:
        """Give `name` to `image_id`; the id of the image that held it before, if another."""
        key = normalize(name)
        before = self.entries.get(key)
        if before is not None and before.image == image_id:
            return None
        self.entries[key] = NameEntry(name=name, image=image_id, at=now())
        return before.image if before is not None else None

    def drop(self, name: str) -> NameEntry | None:
        return self.entries.pop(normalize(name), None)

    def drop_image(self, image_id: str) -> list[str]:
        """Every name of `image_id` removed; the names."""
        gone = [key for key, e in self.entries.items() if e.image == image_id]
        return [self.entries.pop(key).name for key in gone]

    def by_image(self) -> dict[str, list[str]]:
        """image id -> its names, oldest first."""
        held: dict[str, list[NameEntry]] = {}
        for entry in self.entries.values():
            held.setdefault(entry.image, []).append(entry)
        return {
            image: [e.name for e in sorted(entries, key=lambda e: (e.at, e.name))]
            for image, entries in held.items()
        }
