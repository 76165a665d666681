import { describeStalledUploadFlood } from "./describe-stalled-upload-flood.ts";

// 64 chunked uploads (no declared length) that send 24 MiB and stall, on one run's socket (issue 9 §4).
describeStalledUploadFlood("chunked");
