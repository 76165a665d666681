import { describeStalledUploadFlood } from "./describe-stalled-upload-flood.ts";

// 64 uploads that declare 30 MiB, send 24 MiB and stall, on one run's socket (issue 9 §4).
describeStalledUploadFlood("declared");
