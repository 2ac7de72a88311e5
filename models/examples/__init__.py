"""Shipped example models of other formats (an ONNX and a .tflite file) and the script that
makes them from our own weights (``python -m cim.make_examples``)."""
