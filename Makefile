# fer_ros: `make demo` and `make test` work on a fresh machine (Python 3.10+, cmake, a C compiler).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
REQS := requirements.txt requirements-build.txt requirements-dev.txt
ENV := . ./env.sh

.PHONY: env build demo test robot-test peers ship-model clean

env: build

$(STAMP): $(REQS)
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet $(foreach r,$(REQS),-r $(r))
	@touch $(STAMP)

# colcon builds the messages and installs node, launch and config into install/ (symlinked).
build: $(STAMP)
	source $(VENV)/bin/activate && AMENT_PREFIX_PATH=$$VIRTUAL_ENV colcon build --symlink-install \
	  --cmake-args -DPython3_EXECUTABLE=$$VIRTUAL_ENV/bin/python \
	  -DBUILD_TESTING=OFF -DFER_ROS_DEVELOPMENT=ON > build.log 2>&1 || { tail -40 build.log; exit 1; }

# BAG=path plays your rosbag2 (its image topic, raw or compressed; TOPIC=name where it has several); CAMERA=0 uses a camera; PARAMS="detector:=yunet yunet_model:=..."
demo: build
	$(ENV) && python -m fer_ros.tools.demo $(if $(BAG),--bag $(BAG)) $(if $(TOPIC),--topic $(TOPIC)) \
	  $(if $(CAMERA),--camera $(CAMERA)) \
	  $(foreach p,$(PARAMS),--param $(p))

# Every test: the robot profile's first (below), then the whole suite in .venv (the robot's one included:
# test_robot_profile compares the CLI's faces in both).
test: build robot-test
	$(ENV) && pytest -q test $(PYTEST_ARGS)

# The robot profiles (docs/robot.md): a robot's own Python runs the ROS-free core's tests and the CLI from
# the source tree. noble (Jazzy, Kilted): the distribution's OpenCV 4.6.0 and numpy from apt, the Haar
# cascades of opencv-data, onnxruntime from pip in a venv that sees them. jammy (Humble): Python 3.10 with
# Ubuntu 22.04's versions pinned (numpy 1.21.5, OpenCV 4.5.4), where a Python 3.10 is found (else it says so
# and is left out). .ci/robot_env.sh builds them (apt-get: root or sudo).
ROBOT_TESTS := $(patsubst %,test/test_%.py,affect core_units detectors finder framing image quality \
  smoothing views whole_frame model_cache cli default_model stability stats)
ROBOT_RUN = env -u PYTHONSAFEPATH -u VIRTUAL_ENV PYTHONPATH=$(CURDIR) $(1)/bin/python -m pytest -q \
  -p no:cacheprovider $(ROBOT_TESTS)

.venv-noble/.installed: requirements-robot.txt .ci/robot_env.sh
	.ci/robot_env.sh noble .venv-noble
	@touch $@

.venv-jammy/.installed: requirements-jammy.txt .ci/robot_env.sh
	.ci/robot_env.sh jammy .venv-jammy && touch $@ || { test $$? = 3 && touch .venv-jammy.absent; }

robot-test: .venv-noble/.installed .venv-jammy/.installed
	$(call ROBOT_RUN,.venv-noble)
	@if [ -e .venv-jammy.absent ]; then echo "robot profile jammy: left out (no Python 3.10)"; \
	  rm -f .venv-jammy.absent; else $(call ROBOT_RUN,.venv-jammy); fi

# Export a training run as a shipped model (NAME=default or fast: fer_ros/models/fer_$(NAME).onnx),
# evaluate it on PublicTest and write its card. EXPORT_ARGS passes e.g. --flip-average to the export;
# CARD_ARGS passes --hardware/--note/--card/--role to fer_models.model_card.
RUN ?= runs/fernet_w32
NAME ?= default
FER_CSV ?= ../shared/data/fer2013/fer2013.csv.gz
MODELS := fer_ros/models
SHIPPED = $(MODELS)/fer_$(NAME).onnx
ship-model: build
	$(ENV) && python -m fer_models.export --model $(RUN)/best.keras --out $(SHIPPED) \
	    --data $(FER_CSV) $(EXPORT_ARGS) && \
	  python -m fer_models.evaluate --data $(FER_CSV) --split PublicTest --model $(SHIPPED) --json \
	    > $(RUN)/evaluation.json && \
	  python -m fer_models.evaluate --data $(FER_CSV) --split PublicTest --model $(SHIPPED) \
	    --figures $(RUN)/figures && \
	  python -m fer_models.compare_runtimes --keras $(RUN)/best.keras --onnx $(SHIPPED) > $(RUN)/runtimes.json && \
	  python -m fer_models.model_card --run $(RUN) --onnx $(SHIPPED) \
	    --evaluation $(RUN)/evaluation.json --runtimes $(RUN)/runtimes.json --log $(RUN).log $(CARD_ARGS)

# Peers for fer_models.peers and fer_ros.bench, --no-deps: their own requirements would pull a CUDA
# torch and a second TensorFlow; the few small packages DeepFace imports come after.
peers: build
	$(VENV)/bin/pip install --quiet --no-deps fer==25.10.3 deepface==0.0.103 tf-keras==2.21.0
	$(VENV)/bin/pip install --quiet pandas==3.1.1 gdown==6.5.1 werkzeug==3.1.9

clean:
	rm -rf build install log build.log demo_output .venv-noble .venv-jammy
