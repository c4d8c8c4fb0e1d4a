// Original file: launcher.proto


export interface Empty {
}

export interface Empty__Output {
}
