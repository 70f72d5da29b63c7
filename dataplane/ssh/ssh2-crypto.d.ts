/**
 * ssh2's cipher module, read for one fact: whether its optional native crypto binding loaded. That
 * binding decrypts packets in place, so the payloads it hands out are views of the socket's input.
 */
declare module 'ssh2/lib/protocol/crypto.js' {
  export const bindingAvailable: boolean;
}
