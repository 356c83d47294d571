"""The FAISS vector store: entry ids to unit vectors, inner-product search, atomic persistence."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
INDEX_FILE = "vectors.faiss"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".save.lock"

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]


class IndexUnusable(Exception):
    """The index files on disk cannot be used as they are; `reason` says why (in French)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IndexMissing(IndexUnusable):
    """No index was saved yet: the normal state of a first start."""


@dataclass(frozen=True)
class Manifest:
    """What an index file holds, written next to it and checked when it is loaded."""

    model_id: str
    dim: int
    count: int
    watermark: int
    epoch: str
    checksum: str
    saved_at: str
    format: int = FORMAT_VERSION

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Manifest:
        """Build a manifest from its JSON form; raise IndexUnusable when fields are missing."""
        try:
            return cls(model_id=str(raw["model_id"]), dim=int(raw["dim"]),
                       count=int(raw["count"]), watermark=int(raw["watermark"]),
                       epoch=str(raw.get("epoch", "")), checksum=str(raw["checksum"]),
                       saved_at=str(raw.get("saved_at", "")),
                       format=int(raw.get("format", 0)))
        except (KeyError, TypeError, ValueError) as error:
            raise IndexUnusable(f"manifeste illisible ({error})") from error


class ReadWriteLock:
    """Many readers or one writer; a waiting writer goes before new readers."""

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the lock shared for the block."""
        with self._condition:
            while self._writing or self._writers_waiting:
                self._condition.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                if not self._readers:
                    self._condition.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the lock exclusively for the block."""
        with self._condition:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._condition.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()


def _as_ids(ids: Sequence[int] | npt.NDArray[Any]) -> Ids:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


class VectorStore:
    """Unit vectors keyed by entry id in a FAISS `IndexIDMap2(IndexFlatIP)`.

    Mutations take the lock exclusively, searches share it. `watermark` is the last change
    (of the database's change log) that the vectors reflect; `epoch` names the database.
    """

    def __init__(self, *, model_id: str, dim: int, epoch: str = "", watermark: int = 0,
                 index: Any | None = None) -> None:
        self.model_id = model_id
        self.dim = dim
        self.epoch = epoch
        self._watermark = watermark
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._lock = ReadWriteLock()

    @property
    def watermark(self) -> int:
        """The last database change these vectors reflect."""
        return self._watermark

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> Ids:
        """Return the ids held, in storage order."""
        with self._lock.reading():
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def vectors(self, ids: Sequence[int]) -> npt.NDArray[np.float32]:
        """Return the stored vectors of these ids (KeyError for an id not held)."""
        with self._lock.reading():
            out = np.zeros((len(ids), self.dim), dtype=np.float32)
            for row, entry_id in enumerate(ids):
                try:
                    out[row] = self._index.reconstruct(int(entry_id))
                except RuntimeError as error:
                    raise KeyError(entry_id) from error
            return out

    def apply(self, *, upsert_ids: Sequence[int] | Ids = (),
              upsert_vectors: npt.NDArray[np.float32] | None = None,
              remove_ids: Sequence[int] | Ids = (), watermark: int | None = None) -> None:
        """Insert or replace vectors and remove ids in one step, then advance the watermark."""
        upserts = _as_ids(upsert_ids)
        removes = _as_ids(remove_ids)
        vectors = (np.zeros((0, self.dim), dtype=np.float32) if upsert_vectors is None
                   else np.ascontiguousarray(upsert_vectors, dtype=np.float32))
        if vectors.shape != (len(upserts), self.dim):
            raise ValueError(f"expected {len(upserts)} vectors of dimension {self.dim}, "
                             f"got shape {vectors.shape}")
        if len(np.unique(upserts)) != len(upserts):
            raise ValueError("duplicate ids in one upsert")
        stale = np.union1d(upserts, removes)
        with self._lock.writing():
            if len(stale):
                self._index.remove_ids(faiss.IDSelectorBatch(stale))
            if len(upserts):
                self._index.add_with_ids(vectors, upserts)
            if watermark is not None:
                self._watermark = max(self._watermark, watermark)

    def extend(self, ids: Sequence[int] | Ids, vectors: npt.NDArray[np.float32]) -> None:
        """Add vectors of ids not held yet (a rebuild: no removal pass over the index)."""
        new_ids = _as_ids(ids)
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if matrix.shape != (len(new_ids), self.dim):
            raise ValueError(f"expected {len(new_ids)} vectors of dimension {self.dim}, "
                             f"got shape {matrix.shape}")
        with self._lock.writing():
            if len(new_ids):
                self._index.add_with_ids(matrix, new_ids)

    def upsert(self, ids: Sequence[int] | Ids, vectors: npt.NDArray[np.float32]) -> None:
        """Insert or replace the vectors of these ids."""
        self.apply(upsert_ids=ids, upsert_vectors=vectors)

    def remove(self, ids: Sequence[int] | Ids) -> None:
        """Remove these ids (ids not held are ignored)."""
        self.apply(remove_ids=ids)

    def search(self, queries: npt.NDArray[np.float32], k: int) -> tuple[Scores, Ids]:
        """Return the k best (inner product) scores and ids per query row; missing ids are -1."""
        matrix = np.ascontiguousarray(np.asarray(queries, dtype=np.float32).reshape(-1, self.dim))
        if k <= 0 or not len(matrix):
            return (np.zeros((len(matrix), 0), dtype=np.float32),
                    np.zeros((len(matrix), 0), dtype=np.int64))
        # One query is fastest on one core: OpenMP threads spinning for a 1-row search cost
        # tens of milliseconds on a busy machine. Concurrency comes from the callers' threads.
        # (The setting is per calling thread.)
        faiss.omp_set_num_threads(1)
        with self._lock.reading():
            scores, ids = self._index.search(matrix, k)
        return scores, ids

    # --- persistence -------------------------------------------------------------------

    def save(self, directory: Path) -> Manifest:
        """Write the index and its manifest atomically (temp file, fsync, rename, fsync dir)."""
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock.reading():
            blob = faiss.serialize_index(self._index)
            count = int(self._index.ntotal)
            watermark = self._watermark
        data = blob.tobytes()
        manifest = Manifest(model_id=self.model_id, dim=self.dim, count=count,
                            watermark=watermark, epoch=self.epoch,
                            checksum=hashlib.sha256(data).hexdigest(),
                            saved_at=datetime.now(UTC).isoformat(timespec="seconds"))
        payload = json.dumps(asdict(manifest), indent=2, ensure_ascii=False).encode("utf-8")
        with _directory_lock(directory):
            _write_atomically(directory / INDEX_FILE, data)
            _write_atomically(directory / MANIFEST_FILE, payload)
            _fsync_directory(directory)
        logger.info("index saved: %s vectors, watermark %s, in %s", count, watermark, directory)
        return manifest

    @classmethod
    def load(cls, directory: Path, *, model_id: str, dim: int) -> VectorStore:
        """Load a saved index, verifying manifest, model, dimension, checksum and count."""
        with _directory_lock(directory):
            manifest = read_manifest(directory)
            try:
                data = (directory / INDEX_FILE).read_bytes()
            except OSError as error:
                raise IndexUnusable(f"fichier d'index illisible ({error.strerror})") from error
        if manifest.format != FORMAT_VERSION:
            raise IndexUnusable(f"format d'index {manifest.format} inconnu")
        if manifest.model_id != model_id:
            raise IndexUnusable(f"index calculé avec le modèle « {manifest.model_id} », "
                                f"modèle configuré « {model_id} »")
        if manifest.dim != dim:
            raise IndexUnusable(f"index de dimension {manifest.dim}, modèle de dimension {dim}")
        if hashlib.sha256(data).hexdigest() != manifest.checksum:
            raise IndexUnusable("fichier d'index endommagé (somme de contrôle différente)")
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as error:
            raise IndexUnusable("fichier d'index illisible par FAISS") from error
        if not isinstance(index, faiss.IndexIDMap2) or index.d != dim:
            raise IndexUnusable("fichier d'index d'un type inattendu")
        if int(index.ntotal) != manifest.count:
            raise IndexUnusable(f"l'index contient {index.ntotal} vecteurs, le manifeste "
                                f"en annonce {manifest.count}")
        return cls(model_id=model_id, dim=dim, epoch=manifest.epoch,
                   watermark=manifest.watermark, index=index)


def read_manifest(directory: Path) -> Manifest:
    """Read the manifest of a saved index; raise IndexUnusable when absent or unreadable."""
    path = directory / MANIFEST_FILE
    if not path.exists() or not (directory / INDEX_FILE).exists():
        raise IndexMissing(f"aucun index enregistré dans {directory}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IndexUnusable(f"manifeste illisible ({error})") from error
    if not isinstance(raw, dict):
        raise IndexUnusable("manifeste illisible")
    return Manifest.parse(raw)


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    # Two processes saving at once must not pair one's index with the other's manifest.
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: the checksum still catches a mix-up
        yield
        return
    if not directory.exists():
        yield
        return
    with open(directory / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
