"""Physics: the pybullet world that settles scenes, and the collision models it uses."""
