"""The engine: an image in, poses out (PoseNet and MoveNet, CPU or Edge TPU)."""
