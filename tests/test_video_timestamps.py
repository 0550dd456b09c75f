"""Frame times from the container's presentation timestamps (PTS), not index / fps."""

import pytest
from video_helpers import FakeClock, sharp_blurred_sharp, write_mkv, write_video

from arniqa_edge.video import VideoReader
from arniqa_edge.video.timestamps import FrameClock

#: A variable frame rate: bursts at 25 fps with pauses in between (a screen recording, a phone, a stream).
SHOWN_AT_MS = [0, 40, 80, 200, 240, 500, 540, 580, 1000, 1040, 1080, 1120]


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory):
    """12 frames at SHOWN_AT_MS in Matroska, announcing its duration (OpenCV then guesses 58 frames)."""
    return write_mkv(
        tmp_path_factory.mktemp("vfr") / "vfr.mkv", sharp_blurred_sharp((4, 4, 4)), SHOWN_AT_MS, duration_ms=1160.0
    )


def test_variable_frame_rate_frames_get_their_container_times(vfr_clip):
    reader = VideoReader(str(vfr_clip))
    frames = list(reader)
    assert [round(f.timestamp * 1000) for f in frames] == SHOWN_AT_MS  # not index / fps (the guess is 50 fps)
    # OpenCV announces duration x its guessed rate, 58 frames: the file still counts as whole, its last
    # frame having reached the announced duration.
    assert reader.info.frame_count > 12 and reader.end == "complete"


def test_sampling_by_rate_follows_the_container_times(vfr_clip):
    frames = list(VideoReader(str(vfr_clip), fps=2.0))  # one frame per 0.5 s of the video's own time
    assert [(f.index, round(f.timestamp, 3)) for f in frames] == [(0, 0.0), (5, 0.5), (8, 1.0)]


def test_constant_rate_files_keep_index_over_fps(tmp_path):
    clip = write_video(tmp_path / "cfr.avi", sharp_blurred_sharp((3, 3, 3)), fps=10.0)
    assert [f.timestamp for f in VideoReader(str(clip))] == pytest.approx([i / 10 for i in range(9)])


def test_clock_without_pts_counts_frames_at_the_nominal_rate():
    clock = FrameClock(fps=25.0)
    assert [clock.time_of(i, 0.0) for i in range(4)] == pytest.approx([0, 0.04, 0.08, 0.12])  # OpenCV's 0: none
    assert clock.time_of(6, None) == pytest.approx(0.24)  # a frame that did not decode: placed at the rate
    assert clock.from_pts == 1


def test_clock_of_a_live_source_starts_at_its_first_frame_and_never_goes_back():
    clock = FrameClock(fps=10.0, from_first_frame=True)  # a camera: PTS = time since boot
    times = [clock.time_of(i, pts) for i, pts in enumerate([5_000_000.0, 5_000_150.0, 5_000_230.0])]
    assert times == pytest.approx([0.0, 0.15, 0.23])
    assert clock.time_of(3, 20.0) == pytest.approx(0.33)  # the stream restarted its clock: on at the rate ...
    assert clock.time_of(4, 70.0) == pytest.approx(0.38)  # ... and the new PTS count on from there
    assert clock.time_of(5, 70.0) == pytest.approx(0.48)  # a PTS that stands still: the rate again


def test_clock_without_rate_or_pts_uses_the_wall_clock():
    wall = FakeClock(100.0)
    clock = FrameClock(fps=0.0, clock=wall)
    wall.sleep(0.5)
    first = clock.time_of(0, None)
    wall.sleep(0.25)
    assert (first, clock.time_of(1, 0.0)) == pytest.approx((0.5, 0.75))
