"""The One Euro filter: exact on constant signals, less jitter, little lag, time from timestamps."""

from __future__ import annotations

import numpy as np
import pytest

from posestage.tracking.one_euro import OneEuroFilter, smoothing_factor

DT = 1.0 / 30.0


def run(filt: OneEuroFilter, samples: np.ndarray, times: np.ndarray) -> np.ndarray:
    return np.array([filt(x, t) for x, t in zip(samples, times, strict=True)])


def test_smoothing_factor_matches_first_order_lowpass():
    # alpha = r / (r + 1), r = 2 pi fc dt
    assert smoothing_factor(0.1, 1.0) == pytest.approx(0.2 * np.pi / (0.2 * np.pi + 1))
    assert smoothing_factor(1000.0, 1.0) == pytest.approx(1.0, abs=1e-3)
    assert smoothing_factor(1e-6, 1.0) == pytest.approx(0.0, abs=1e-4)


def test_first_sample_and_constant_signal_pass_exactly():
    rng = np.random.default_rng(1)
    value = rng.uniform(0, 1, (17, 2))
    filt = OneEuroFilter(min_cutoff=1.0, beta=10.0)
    for i in range(100):
        out = filt(value, i * DT)
        np.testing.assert_array_equal(out, value)
    assert out.shape == (17, 2) and out.dtype == np.float64


def test_jitter_is_reduced():
    rng = np.random.default_rng(2)
    truth = rng.uniform(0.2, 0.8, (17, 2))
    noisy = truth + rng.normal(0, 0.004, (300, 17, 2))  # ~2 px of jitter at 480 px
    times = np.arange(300) * DT
    out = run(OneEuroFilter(min_cutoff=1.0, beta=10.0), noisy, times)
    ratio = np.var(out[30:] - truth) / np.var(noisy[30:] - truth)
    assert ratio < 0.25, ratio
    # Less min_cutoff, less jitter.
    calmer = run(OneEuroFilter(min_cutoff=0.3, beta=10.0), noisy, times)
    assert np.var(calmer[30:] - truth) < np.var(out[30:] - truth)


def test_fast_step_is_followed_quickly_with_beta():
    times = np.arange(40) * DT
    signal = np.zeros((40, 17, 2))
    signal[10:] = 0.3  # a hand thrown across a third of the image in one frame

    def frames_to_90_percent(beta: float) -> int:
        out = run(OneEuroFilter(min_cutoff=1.0, beta=beta), signal, times)
        return int(np.argmax(out[:, 0, 0] >= 0.27)) - 10

    assert frames_to_90_percent(10.0) <= 2  # within ~66 ms at 30 fps
    assert frames_to_90_percent(0.0) >= 10  # the plain low-pass lags by many frames


def test_moving_signal_lags_little():
    times = np.arange(60) * DT
    ramp = np.repeat((times * 1.0)[:, None, None], 17, axis=1).repeat(2, axis=2)  # 1 unit/s
    out = run(OneEuroFilter(min_cutoff=1.0, beta=10.0), ramp, times)
    lag_s = (ramp[-1, 0, 0] - out[-1, 0, 0]) / 1.0
    assert 0 <= lag_s < 0.03
    slow = run(OneEuroFilter(min_cutoff=1.0, beta=0.0), ramp, times)
    assert ramp[-1, 0, 0] - slow[-1, 0, 0] > 0.1  # ~1 / (2 pi) s without beta


def test_time_step_comes_from_timestamps_not_calls():
    # The same two samples: a long gap lets the output jump, a short one barely moves it.
    for dt, low, high in ((10.0, 0.95, 1.0), (0.001, 0.0, 0.05)):
        filt = OneEuroFilter(min_cutoff=1.0, beta=0.0)
        filt(np.zeros(3), 100.0)
        out = filt(np.ones(3), 100.0 + dt)
        assert low <= out[0] <= high, (dt, out)


def test_replay_with_same_timestamps_reproduces_exactly():
    rng = np.random.default_rng(3)
    samples = rng.normal(0, 1, (50, 17, 2))
    times = np.cumsum(rng.uniform(0.01, 0.08, 50))  # irregular frame times
    a = run(OneEuroFilter(1.0, 10.0), samples, times)
    b = run(OneEuroFilter(1.0, 10.0), samples, times)
    np.testing.assert_array_equal(a, b)
    c = run(OneEuroFilter(1.0, 10.0), samples, np.arange(50) * DT)
    assert not np.allclose(a, c)  # other timestamps, other result


def test_repeated_timestamp_reuses_last_step():
    filt = OneEuroFilter(1.0, 10.0)
    filt(np.zeros(2), 1.0)
    filt(np.ones(2), 1.0 + DT)
    out = filt(np.full(2, 2.0), 1.0 + DT)  # same time again
    back = filt(np.full(2, 2.0), 0.5)  # clock stepped back
    assert np.isfinite(out).all() and np.isfinite(back).all()
    assert 1.0 < out[0] < 2.0


def test_reset_passes_next_sample_through():
    filt = OneEuroFilter(1.0, 0.0)
    filt(np.zeros((17, 2)), 0.0)
    filt(np.ones((17, 2)), DT)
    assert filt.started
    filt.reset()
    assert not filt.started
    np.testing.assert_array_equal(filt(np.full((17, 2), 5.0), 2 * DT), np.full((17, 2), 5.0))


def test_points_use_vector_speed():
    # A point moving diagonally opens the cutoff like one moving along x at the same speed.
    times = np.arange(20) * DT
    along = np.zeros((20, 1, 2))
    along[:, 0, 0] = times
    diag = np.zeros((20, 1, 2))
    diag[:, 0, :] = times[:, None] / np.sqrt(2)
    a = run(OneEuroFilter(1.0, 10.0), along, times)
    d = run(OneEuroFilter(1.0, 10.0), diag, times)
    assert np.linalg.norm(a[-1, 0]) == pytest.approx(np.linalg.norm(d[-1, 0]))


def test_output_is_a_copy():
    filt = OneEuroFilter(1.0, 1.0)
    first = filt(np.zeros(4), 0.0)
    first[:] = 99.0
    assert filt(np.zeros(4), DT)[0] == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [{"min_cutoff": 0.0}, {"beta": -1.0}, {"d_cutoff": -2.0}, {"min_cutoff": float("nan")}],
)
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError, match="OneEuroFilter needs"):
        OneEuroFilter(**kwargs)
