"""Benchmark of the pipeline, its peers and the node on one CPU core: ``python -m fer_ros.bench``.

- ``frames``: the frames every system sees (scene photos, synthetic 30 fps sequences of real faces);
- ``stats``: per-frame statistics, the machine line, the targets;
- ``worker``: times one system in its own process pinned to one core;
- ``deepface_weights``: the random stand-in for DeepFace's weights file that DeepFace is timed on;
- ``node_e2e``: starts the real fer_node and replays a sequence into it at 30 Hz;
- ``__main__``: runs them all and prints the tables;
- ``haar_curve``, ``roi_search``: the measurements the Haar settings come from (docs/benchmark.md).
"""
