from pipelines.demo.make import main

raise SystemExit(main())
