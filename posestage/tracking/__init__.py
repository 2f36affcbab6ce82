"""The tracker: stable ids and slots across frames, keypoints smoothed."""
