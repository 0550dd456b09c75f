"""Export the models for deployment: the ARNIQA encoders and the CVRKD networks (run from a checkout; not in the wheel).

| command                 | reads                          | writes                            | options of note                                    |
|-------------------------|--------------------------------|-----------------------------------|----------------------------------------------------|
| python -m export.onnx     | encoder weights (+ regressor)  | FP32 .onnx, checked vs torch      | --outputs, --image-size, --exporter, --opset       |
| python -m export.quantize | FP32 .onnx                     | FP16 .onnx or INT8 Q/DQ .onnx     | --precision, --calibration-dir/-images, --distortions-per-image |
| python -m export.cvrkd    | CVRKD weights (.safetensors)   | <stem>.maps.onnx + .score.onnx    | --weights (or positional), -o (a folder)           |
| python -m export.trt      | any .onnx, or a CVRKD graph    | .engine + .engine.json sidecar    | --batch, --size, --workspace, --timing-cache, --dla-core, --module |
| python -m export.triton   | .onnx or .engine               | Triton model repository           | --max-batch-size, --preferred-batch-sizes, --kind  |
| python -m export.accuracy | the .onnx files of one model   | agreement report (JSON + markdown)| --images, --scores                                 |

Every ONNX file carries the one metadata scheme of `arniqa_edge.backends.model_metadata`
(kind, precision, target, the sha256 of the weights it was made from), which the
engines' sidecars copy and the runtime checks. Needs the `export` extra (torch,
onnx, onnxscript, onnxconverter-common) and, for engines, TensorRT or tensorrt-rtx.
"""
