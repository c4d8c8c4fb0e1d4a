// Original file: handler.proto


export interface NodeInfoRequest {
}

export interface NodeInfoRequest__Output {
}
