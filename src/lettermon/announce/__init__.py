"""Announcing: milestones, composing posts, the sender and the channels they go out on."""
