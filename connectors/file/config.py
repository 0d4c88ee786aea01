"""The `file` connector's configuration: where the drops are, and which file feeds which entity.

    [sources.subsidy_export]
    kind = "file"
    path = "exports/subsidies"        # a file, a directory or a glob, beside huitong.toml
    encoding = "auto"                 # or "gb18030", "utf-8", …; auto uses charset-normalizer
    delimiter = "auto"                # or ",", "\\t", ";" …; auto uses csv.Sniffer
    import_on_open = true             # load new or changed files when the hub starts
    [sources.subsidy_export.entities.Subsidy]
    file = "*.csv"                    # which files feed this entity (a glob on the file name)
    sheet = "补贴发放"                  # XLSX only: the sheet (default: the first one)
    header_row = 2                    # default: the first row holding every mapped header
    [sources.subsidy_export.entities.Subsidy.fields]
    recipientName = "姓名"             # canonical field = the file's header text
    result = { column = "发放结果", values = { SUCCESS = "成功", FAILED = "失败" } }
"""

from __future__ import annotations

import codecs
import fnmatch
import glob
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from connectors.base import MappingError, SourceLike
from connectors.mapping import EntityMapping

SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
_SOURCE_KEYS = {"kind", "mapping", "entities", "path", "encoding", "delimiter",
                "import_on_open"}


@dataclass(frozen=True)
class EntityFiles:
    entity: str
    mapping: EntityMapping
    pattern: str = "*"
    sheet: str | None = None
    header_row: int | None = None


@dataclass(frozen=True)
class FileSource:
    name: str
    entities: Mapping[str, EntityFiles]
    path: Path | None = None
    encoding: str | None = None
    delimiter: str | None = None
    import_on_open: bool = True

    def files(self) -> list[Path]:
        """The drops found at `path` now (a file, every data file of a folder, or a glob)."""
        if self.path is None:
            return []
        if self.path.is_dir():
            found = [p for p in self.path.iterdir() if p.is_file()]
        elif any(ch in str(self.path) for ch in "*?["):
            found = [Path(p) for p in glob.glob(str(self.path)) if Path(p).is_file()]
        else:
            found = [self.path] if self.path.is_file() else []
        return sorted(p for p in found if p.suffix.lower() in SUFFIXES
                      and not p.name.startswith(("~$", ".")))

    def targets(self, file_name: str) -> list[EntityFiles]:
        """The entities a file feeds: its name matches their `file` pattern."""
        return [e for e in self.entities.values() if fnmatch.fnmatch(file_name, e.pattern)]


def parse_file_source(source: SourceLike, mappings: Mapping[str, EntityMapping]
                      ) -> FileSource:
    where, options = source.where, source.options
    for key in options:
        if key not in _SOURCE_KEYS and not key.endswith("_env"):
            raise MappingError(f"{where}.{key}: unknown key; expected one of "
                               + ", ".join(sorted(_SOURCE_KEYS)))
    if not mappings:
        raise MappingError(f"{where}: expected at least one mapped entity")
    path = options.get("path")
    if path is not None and (not isinstance(path, str) or not path):
        raise MappingError(f"{where}.path: expected a file, folder or glob of CSV/XLSX drops")
    encoding = options.get("encoding", "auto")
    if not isinstance(encoding, str) or (encoding != "auto" and not _known_codec(encoding)):
        raise MappingError(f"{where}.encoding: expected \"auto\" or a codec such as gb18030")
    delimiter = options.get("delimiter", "auto")
    if not isinstance(delimiter, str) or (delimiter != "auto" and len(delimiter) != 1):
        raise MappingError(f"{where}.delimiter: expected \"auto\" or one character")
    on_open = options.get("import_on_open", True)
    if not isinstance(on_open, bool):
        raise MappingError(f"{where}.import_on_open: expected true or false")
    return FileSource(
        name=source.name,
        entities={e: _entity(m, f"{where}: entities.{e}") for e, m in mappings.items()},
        path=source.resolve_path(path) if path else None,
        encoding=None if encoding == "auto" else encoding,
        delimiter=None if delimiter == "auto" else delimiter,
        import_on_open=on_open,
    )


def _entity(mapping: EntityMapping, at: str) -> EntityFiles:
    raw = mapping.container
    pattern, sheet, header_row = raw.get("file", "*"), raw.get("sheet"), raw.get("header_row")
    if not isinstance(pattern, str) or not pattern or "/" in pattern:
        raise MappingError(f"{at}.file: expected a file-name pattern such as \"补贴*.csv\"")
    if sheet is not None and (not isinstance(sheet, str) or not sheet):
        raise MappingError(f"{at}.sheet: expected the name of an XLSX sheet")
    if header_row is not None and (not isinstance(header_row, int)
                                   or isinstance(header_row, bool) or header_row < 1):
        raise MappingError(f"{at}.header_row: expected a row number ≥ 1")
    return EntityFiles(mapping.entity, mapping, pattern, sheet, header_row)


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True
