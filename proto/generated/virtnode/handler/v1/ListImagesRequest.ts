// Original file: handler.proto


export interface ListImagesRequest {
}

export interface ListImagesRequest__Output {
}
