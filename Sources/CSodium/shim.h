// libsodium: BLAKE2b ids, ed25519 identity, (later) X25519/ChaChaPoly for the secure channel.
#include <sodium.h>
