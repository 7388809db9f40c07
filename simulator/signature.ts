export { CALLBACK_TOLERANCE_S, signCallback } from '../security/callback-signature';
