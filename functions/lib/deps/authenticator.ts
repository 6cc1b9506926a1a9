import { ClerkAuthenticator } from "@fitkit/core/adapters/clerk/clerk-authenticator";
import { authorizedPartiesOf } from "@fitkit/core/config";
import { lazy } from "../lazy.js";
import { readLinked } from "../resources.js";

export const authenticator = lazy(() => {
  const clerk = readLinked("Clerk", "Clerk");
  return new ClerkAuthenticator({
    ...(clerk.jwtKey ? { jwtKey: clerk.jwtKey } : {}),
    ...(clerk.secretKey ? { secretKey: clerk.secretKey } : {}),
    authorizedParties: authorizedPartiesOf(clerk),
  });
});
