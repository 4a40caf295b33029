"""Pretrained models converted to ONNX by the project's own means (numpy + onnx, no torch).

The modules here need neither the JVM nor the Irbis jar: ``python -m irbis.models.efficientnet_lite`` writes
an ONNX file that the ONNX stages can then load.
"""
