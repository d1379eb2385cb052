# pip install of the ROS-free parts only: the perception core (fer_ros.core, with the shipped model)
# and the training code (fer_models, with the `train` extra), e.g. on a GPU training box without ROS:
#
#     pip install .            # core: face detection + emotion inference (ONNX Runtime)
#     pip install '.[train]'   # plus TensorFlow/Keras training, evaluation and ONNX export
#
# Supported: Python 3.10+, numpy 1.21.5 to 2.x, OpenCV 4.5.4 to 4.x, onnxruntime 1.12+ (docs/robot.md).
# ROS users do NOT use this file: on a robot it would pip-install an OpenCV wheel (and with it numpy 2)
# over the distribution's. They build the package with colcon instead (`colcon build`), which uses
# CMakeLists.txt/package.xml (ament_cmake) to generate the messages (fer_ros.msg) and installs the
# node (fer_ros.node), tools (fer_ros.tools), launch, config and rviz files. Those need rclpy and
# are left out here. fer_ros/__init__.py must stay empty (the generated messages share the package).

from setuptools import setup

setup(
    name='fer_ros',
    version='0.1.0',
    description='Facial emotion recognition core (face detection + FER2013 emotion classifier in '
                'ONNX Runtime) and training code of the fer_ros ROS 2 package, without ROS.',
    license='MIT',
    python_requires='>=3.10',
    packages=['fer_ros', 'fer_ros.core', 'fer_ros.core.classifiers', 'fer_ros.core.detectors', 'fer_models'],
    package_data={'fer_ros': ['models/*.onnx', 'models/*.json', 'models/*.md', 'core/detectors/*.json']},
    install_requires=[
        'numpy>=1.21.5',
        'opencv-python-headless>=4.5.4,<5',  # 4.x ships the Haar cascade files (5.x dropped them)
        'onnxruntime>=1.12.1',  # runs both models and YuNet (whatever the OpenCV version)
    ],
    extras_require={
        'train': [
            'tensorflow-cpu>=2.16',
            'keras>=3.10',
            'tf2onnx>=1.17',
            'onnx>=1.16',
            'matplotlib>=3.8',
            'tqdm',
        ],
    },
)
