"""Benchmark of the pipeline, its peers and the node on one CPU core: ``python -m fer_ros.bench``.

Development-only, like fer_models, which it imports: the checkout's ``make build`` installs it, a robot's
colcon build does not (docs/layout.md).

- ``frames``: the frames every system sees (scene photos, synthetic 30 fps sequences of real faces);
- ``stats``: per-frame statistics, the machine line, the targets;
- ``worker``: times one system in its own process pinned to one core;
- ``deepface_weights``: the random stand-in for DeepFace's weights file that DeepFace is timed on;
- ``node_e2e``: starts the real fer_node and replays a sequence into it at 30 Hz;
- ``__main__``: runs them all and prints the tables;
- ``roi_search``: how often the search near a tracked face finds it again, for each search setting
  (docs/benchmark.md; the finder's and the detectors' search constants name it).
"""
