"""What flows: keypoints, poses, people and frames, the pose stream, synthetic people."""
