// Original file: handler.proto

import type { Image as _virtnode_handler_v1_Image, Image__Output as _virtnode_handler_v1_Image__Output } from '../../../virtnode/handler/v1/Image.js';
import type { ImagePull as _virtnode_handler_v1_ImagePull, ImagePull__Output as _virtnode_handler_v1_ImagePull__Output } from '../../../virtnode/handler/v1/ImagePull.js';

export interface ListImagesResponse {
  'images'?: (_virtnode_handler_v1_Image)[];
  'pulls'?: (_virtnode_handler_v1_ImagePull)[];
}

export interface ListImagesResponse__Output {
  'images': (_virtnode_handler_v1_Image__Output)[];
  'pulls': (_virtnode_handler_v1_ImagePull__Output)[];
}
