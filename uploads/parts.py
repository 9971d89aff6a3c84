"""Multipart planning: how a file of a given size is cut into S3 parts."""

import math
from dataclasses import dataclass

from uploads import conf


@dataclass(frozen=True)
class PartPlan:
    """The parts of one multipart upload: all `part_size` bytes except possibly the last."""

    size: int
    part_size: int

    @property
    def part_count(self) -> int:
        """Return how many parts the file is cut into."""
        return math.ceil(self.size / self.part_size)

    def size_of(self, part_number: int) -> int:
        """Return the exact byte count of a 1-based part."""
        if not 1 <= part_number <= self.part_count:
            raise ValueError(f"part {part_number} is outside 1..{self.part_count}")
        if part_number < self.part_count:
            return self.part_size
        return self.size - (self.part_count - 1) * self.part_size


def plan_parts(size: int, preferred_part_size: int | None = None) -> PartPlan:
    """Plan parts of the preferred size, enlarged to stay within 10,000 parts, never under 5 MiB."""
    part_size = max(preferred_part_size or conf.part_size(), conf.PART_MIN_BYTES)
    fewest_bytes = math.ceil(size / conf.MULTIPART_MAX_PARTS)
    if part_size < fewest_bytes:
        # Round up to whole MiB so part sizes stay easy to read in logs and the admin.
        part_size = math.ceil(fewest_bytes / conf.MiB) * conf.MiB
    return PartPlan(size=size, part_size=min(part_size, conf.PART_MAX_BYTES))


def uses_multipart(size: int) -> bool:
    """Tell whether a file this big goes up in parts (above the threshold or the POST limit)."""
    return size > min(conf.multipart_threshold(), conf.SINGLE_POST_MAX_BYTES)
