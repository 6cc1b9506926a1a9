/** Attempts per S3 call, for the SDK client and the lean one alike: one retry for a blip, no more, so the wait stays bounded. */
export const S3_MAX_ATTEMPTS = 2;
