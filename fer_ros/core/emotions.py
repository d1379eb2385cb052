"""The seven FER2013 emotion labels, in the dataset's (and every model's) output order."""

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_EMOTIONS = len(EMOTIONS)
