// The image subsystem's public face for the rest of the handler.
export { ImageService } from './service.js';
export type { ImageServiceOptions, PullOptions, ContainerDiskPull, KernelBootPull, ImageSummary } from './service.js';
export { ImagePullError } from './errors.js';
export type { PullProgress, ProgressCallback } from './progress.js';
export type { Mirrors, MirrorConfig } from './hosts.js';
export type { Credentials } from './auth.js';
export type { Overlay } from './overlay.js';
export type { DiskFormat, GcResult } from './store.js';
export { parseReference, formatReference, defaultPullPolicy } from './reference.js';
export type { ImageReference } from './reference.js';
