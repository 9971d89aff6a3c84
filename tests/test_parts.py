"""Unit tests for multipart planning: S3's part limits and the threshold."""

import pytest

from uploads.multipart import PartPlan, plan_parts, uses_multipart

MiB = 1024**2
GiB = 1024**3


def test_parts_use_the_preferred_size_and_a_smaller_last_part():
    plan = plan_parts(100 * MiB + 1, 16 * MiB)
    assert (plan.part_size, plan.part_count) == (16 * MiB, 7)
    assert [plan.size_of(n) for n in range(1, 8)] == [16 * MiB] * 6 + [4 * MiB + 1]
    assert sum(plan.size_of(n) for n in range(1, 8)) == 100 * MiB + 1


def test_exact_multiple_has_full_last_part():
    plan = plan_parts(64 * MiB, 16 * MiB)
    assert plan.part_count == 4
    assert plan.size_of(4) == 16 * MiB


def test_part_size_never_below_five_mebibytes():
    assert plan_parts(100 * MiB, 1 * MiB).part_size == 5 * MiB


@pytest.mark.parametrize("size", [200 * GiB, 1024 * GiB, 5 * 1024 * GiB])
def test_part_size_grows_to_stay_within_ten_thousand_parts(size):
    plan = plan_parts(size, 16 * MiB)
    assert plan.part_count <= 10_000
    assert plan.part_size % MiB == 0
    assert plan.part_size <= 5 * GiB


def test_default_part_size_comes_from_settings(settings):
    settings.UPLOAD_PART_SIZE = 8 * MiB
    assert plan_parts(100 * MiB).part_size == 8 * MiB


@pytest.mark.parametrize("number", [0, 8, -1])
def test_part_numbers_outside_the_plan_are_refused(number):
    with pytest.raises(ValueError, match="outside"):
        PartPlan(size=100 * MiB, part_size=16 * MiB).size_of(number)


def test_threshold_decides_multipart(settings):
    settings.UPLOAD_MULTIPART_THRESHOLD = 64 * MiB
    assert not uses_multipart(64 * MiB)
    assert uses_multipart(64 * MiB + 1)


def test_files_beyond_the_post_limit_always_use_multipart(settings):
    settings.UPLOAD_MULTIPART_THRESHOLD = 100 * GiB
    assert uses_multipart(5 * GiB + 1)
