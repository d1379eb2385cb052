"""fer_models: train, evaluate and export fer_ros emotion models (needs TensorFlow; the node does not)."""
