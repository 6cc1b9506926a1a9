/**
 * A container image for a Lambda: its ECR repository (scanned on push, the last few images kept for
 * a rollback), the image built from a Dockerfile of this repository for Lambda's arm64 and pushed
 * there, and the URI Lambda takes. One recipe for the scanner and the media worker.
 */
import path from "node:path";

/** Lambda's image architecture; the Dockerfiles build for it. */
export const IMAGE_ARCHITECTURE = "arm64";
/** Images kept in a repository (a rollback needs the previous ones). */
const KEPT_IMAGES = 5;

export async function pushedImage(
  /** Component names: `<prefix>Repository`, `<prefix>RepositoryLifecycle`, `<prefix>Image`. */
  prefix: string,
  args: { repositoryName: string; dockerfile: string; retain: boolean },
): Promise<{ imageUri: $util.Output<string> }> {
  // Loaded at run time, not imported at the top: SST bundles sst.config.ts with everything it
  // imports and evaluates it during `sst install`, before the platform's own packages (which include
  // @pulumi/docker-build) are installed — a top-level import fails every fresh install.
  const { Image } = await import("@pulumi/docker-build");
  const repository = new aws.ecr.Repository(`${prefix}Repository`, {
    name: args.repositoryName,
    forceDelete: !args.retain,
    imageScanningConfiguration: { scanOnPush: true },
  });
  new aws.ecr.LifecyclePolicy(`${prefix}RepositoryLifecycle`, {
    repository: repository.name,
    policy: JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          description: `keep the last ${KEPT_IMAGES} images`,
          selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: KEPT_IMAGES },
          action: { type: "expire" },
        },
      ],
    }),
  });
  const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId });
  const image = new Image(`${prefix}Image`, {
    context: { location: $cli.paths.root },
    dockerfile: { location: path.join($cli.paths.root, args.dockerfile) },
    platforms: [`linux/${IMAGE_ARCHITECTURE}`],
    push: true,
    tags: [$interpolate`${repository.repositoryUrl}:latest`],
    registries: [{ address: repository.repositoryUrl, username: token.userName, password: token.password }],
  });
  // Lambda takes an image by tag or by digest, never both: `image.ref` is `repo:latest@sha256:…`,
  // which it refuses ("Source image … is not valid"; pulumi-docker-build issue 571 — SST's own
  // function.ts strips the tag). The digest pins exactly the image this deploy built.
  return { imageUri: $interpolate`${repository.repositoryUrl}@${image.digest}` };
}
