/** The cloud commands' part of the usage text. */
export const cloudUsage = `  push aws FILE.raw --name NAME   upload an aws-format disk as an EBS snapshot and register an AMI; prints its id
      --region R, --boot-mode uefi|legacy-bios|uefi-preferred (default uefi-preferred), --tpm, --jobs N
  push gcp FILE.img.tar.gz --name NAME --bucket B
                                  upload a gcp-format archive and create a Compute Engine image
      --project P, --family F, --gvnic, --multiqueue
  run aws AMI|FILE.raw --name NAME
                                  start an EC2 instance, follow its console until lk-init: ready
      --data-file F (user data), --instance-type T, --subnet-id S, --region R, --rm, --timeout SEC
  run gcp IMAGE|FILE.img.tar.gz --name NAME --zone Z
                                  start a GCE instance, follow serial port 1 until lk-init: ready
      --data-file F (user-data), --machine-type T, --project P, --bucket B, --rm, --timeout SEC
`;
