/** Media processing state and outbox for this container: kept by the staging store's instance (consume writes the outbox atomically). */
import type { MediaVariants } from "@fitkit/core/media/media-variants";
import { stagingStore } from "./staging-store.js";

export const mediaVariants = (): Promise<MediaVariants> => stagingStore();
