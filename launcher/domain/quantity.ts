// The launcher reads sizes with the shared kubevirt.io/v1 quantity parser.
export { quantityToBytes } from '../../proto/vmi/quantity.js';
